"""/api/v1/tokens: the caller's personal API tokens (SPEC P7)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from onboard.entrypoints.api import presenters as present
from onboard.entrypoints.api import schemas as s
from onboard.entrypoints.api.deps import CurrentActor, Paging, PathId, Svc, next_cursor
from onboard.services import tokens

router = APIRouter(prefix="/tokens", tags=["tokens"])


@router.post("", status_code=201, response_model=s.TokenCreated)
def create(body: s.TokenCreate, svc: Svc, actor: CurrentActor) -> s.TokenCreated:
    issued = tokens.create_token(svc, actor, name=body.name)
    return s.TokenCreated(**present.token(issued.token).model_dump(), token=issued.secret)


@router.get("", response_model=s.PageOf[s.TokenPublic])
def list_(svc: Svc, actor: CurrentActor, paging: Paging) -> s.PageOf[s.TokenPublic]:
    page = tokens.list_tokens(svc, actor, paging)
    return s.PageOf(items=[present.token(t) for t in page.items], next_cursor=next_cursor(page))


@router.delete("/{token_id}", status_code=204)
def revoke(token_id: PathId, svc: Svc, actor: CurrentActor) -> Response:
    tokens.revoke_token(svc, actor, token_id)
    return Response(status_code=204)
