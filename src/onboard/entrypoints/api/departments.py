"""/api/v1/departments (SPEC P3)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from onboard.entrypoints.api import presenters as present
from onboard.entrypoints.api import schemas as s
from onboard.entrypoints.api.deps import CurrentActor, Paging, PathId, Svc, next_cursor
from onboard.services import departments

router = APIRouter(prefix="/departments", tags=["departments"])


@router.post("", status_code=201, response_model=s.DepartmentPublic)
def create(body: s.DepartmentCreate, svc: Svc, actor: CurrentActor) -> s.DepartmentPublic:
    return present.department(departments.create_department(svc, actor, name=body.name))


@router.get("", response_model=s.PageOf[s.DepartmentPublic])
def list_(svc: Svc, actor: CurrentActor, paging: Paging) -> s.PageOf[s.DepartmentPublic]:
    page = departments.list_departments(svc, actor, paging)
    return s.PageOf(
        items=[present.department(d) for d in page.items], next_cursor=next_cursor(page)
    )


@router.get("/{department_id}", response_model=s.DepartmentPublic)
def get(department_id: PathId, svc: Svc, actor: CurrentActor) -> s.DepartmentPublic:
    return present.department(departments.get_department(svc, actor, department_id))


@router.patch("/{department_id}", response_model=s.DepartmentPublic)
def rename(
    department_id: PathId, body: s.DepartmentUpdate, svc: Svc, actor: CurrentActor
) -> s.DepartmentPublic:
    return present.department(
        departments.rename_department(svc, actor, department_id, name=body.name)
    )


@router.delete("/{department_id}", status_code=204)
def delete(department_id: PathId, svc: Svc, actor: CurrentActor) -> Response:
    departments.delete_department(svc, actor, department_id)
    return Response(status_code=204)
