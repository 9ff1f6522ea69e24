"""The ASGI application uvicorn serves; each worker process builds its own container."""

from dinecard.platform.api import create_app
from dinecard.platform.container import Container
from dinecard.platform.settings import get_settings

app = create_app(Container.from_settings(get_settings()))
