"""Programme endpoints: read the programme in force, replace it with a new version, list versions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from dinecard.platform.deps import ContainerDep, IdempotencyKey, PrincipalDep, allowed, run_write
from dinecard.program import service
from dinecard.program.domain import AwareDatetime, Program
from dinecard.program.presets import PRESETS
from dinecard.security.domain import Principal
from dinecard.security.policy import authorize

router = APIRouter(prefix="/program", tags=["programme"])

CanProgramRead = Annotated[Principal, Depends(allowed("program.read"))]


class ProgramChange(BaseModel):
    """A whole programme document, with when it takes effect (default: now)."""

    model_config = ConfigDict(extra="forbid")

    program: Program
    effective_at: AwareDatetime | None = Field(default=None, description="Default now; never in the past")
    note: str | None = Field(default=None, max_length=200)


class ProgramOut(BaseModel):
    version: int
    effective_at: datetime | None
    program: dict[str, Any]


class VersionOut(BaseModel):
    version: int
    name: str
    effective_at: datetime
    created_at: datetime
    created_by: str | None
    note: str | None


@router.get("", response_model=ProgramOut, summary="The programme in force now")
def read(container: ContainerDep, _principal: CanProgramRead) -> ProgramOut:
    program = container.program
    effective = next(
        (v.effective_at for v in service.list_versions(container.database) if v.version == program.version), None
    )
    return ProgramOut(version=program.version, effective_at=effective, program=program.model_dump(mode="json"))


@router.put("", status_code=201, response_model=ProgramOut, summary="Replace the programme (a new version)")
def replace(
    body: ProgramChange,
    request: Request,
    container: ContainerDep,
    principal: PrincipalDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    authorize(principal, "program.change")

    def operation(uow, now):  # type: ignore[no-untyped-def]
        effective_at = body.effective_at or now
        saved = service.save_version(uow, body.program, effective_at, now, principal.name, body.note)
        return ProgramOut(
            version=saved.version, effective_at=max(effective_at, now), program=saved.model_dump(mode="json")
        )

    response = run_write(request, container, principal, idempotency_key, body, operation)
    container.programs.invalidate()
    return response


@router.get("/versions", response_model=list[VersionOut], summary="Every version, newest first")
def versions(container: ContainerDep, _principal: CanProgramRead) -> list[VersionOut]:
    return [VersionOut(**vars(info)) for info in service.list_versions(container.database)]


@router.get("/presets", summary="Names of the ready-made programmes")
def presets(_principal: CanProgramRead) -> list[str]:
    return sorted(PRESETS)
