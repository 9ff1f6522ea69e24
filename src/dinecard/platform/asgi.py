"""The ASGI application uvicorn serves; each worker process builds its own container and sets up its logs.

Logs are JSON lines unless DINECARD_LOG_FORMAT says otherwise (`auto`, the default, writes text
when stderr is a terminal and JSON everywhere else).
"""

from dinecard.platform.api import create_app
from dinecard.platform.container import Container
from dinecard.platform.logging import configure_logging
from dinecard.platform.settings import get_settings

configure_logging(get_settings().log_format, get_settings().log_level)
app = create_app(Container.from_settings(get_settings()))
