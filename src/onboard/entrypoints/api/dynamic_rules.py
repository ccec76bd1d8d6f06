"""/api/v1/dynamic-code-rules and /api/v1/scan: how an organization recognizes payloads
that are not our code URLs, and resolving what the mobile app scanned (SPEC A14)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from onboard.domain.access import Actor
from onboard.domain.dynamic_codes import DynamicRule
from onboard.entrypoints.api import presenters as present
from onboard.entrypoints.api import schemas as s
from onboard.entrypoints.api.deps import CurrentActor, Paging, PathId, Svc, next_cursor
from onboard.services import dynamic_codes
from onboard.services.dynamic_codes import Scanned

router = APIRouter(tags=["dynamic codes"])


def _rule(rule: DynamicRule) -> s.DynamicRulePublic:
    return s.DynamicRulePublic(
        id=rule.id, name=rule.name, kind=rule.kind.value, pattern=rule.pattern,
        template_id=rule.template_id, created_at=rule.created_at,
    )  # fmt: skip


@router.post("/dynamic-code-rules", status_code=201, response_model=s.DynamicRulePublic)
def create(body: s.DynamicRuleCreate, svc: Svc, actor: CurrentActor) -> s.DynamicRulePublic:
    """A rule is tried after the rules created before it; the first that matches wins."""
    rule = dynamic_codes.create_rule(
        svc, actor, name=body.name, kind=body.kind, pattern=body.pattern,
        template_id=body.template_id,
    )  # fmt: skip
    return _rule(rule)


@router.get("/dynamic-code-rules", response_model=s.PageOf[s.DynamicRulePublic])
def list_(svc: Svc, actor: CurrentActor, paging: Paging) -> s.PageOf[s.DynamicRulePublic]:
    """In creation order, the order they are tried."""
    page = dynamic_codes.list_rules(svc, actor, paging)
    return s.PageOf(items=[_rule(r) for r in page.items], next_cursor=next_cursor(page))


@router.get("/dynamic-code-rules/{rule_id}", response_model=s.DynamicRulePublic)
def get(rule_id: PathId, svc: Svc, actor: CurrentActor) -> s.DynamicRulePublic:
    return _rule(dynamic_codes.get_rule(svc, actor, rule_id))


@router.delete("/dynamic-code-rules/{rule_id}", status_code=204)
def delete(rule_id: PathId, svc: Svc, actor: CurrentActor) -> Response:
    """Codes bound to payloads stay; new payloads no longer match the rule."""
    dynamic_codes.delete_rule(svc, actor, rule_id)
    return Response(status_code=204)


def _scanned(svc: Svc, actor: Actor, found: Scanned) -> s.ScanResultPublic:
    device = found.device
    code = None
    if found.code is not None:
        # A8: a paired code has its device's departments.
        departments = device.departments if device is not None else found.code.departments
        code = present.code(
            found.code, public_url=svc.public_url, departments=departments, seen_by=actor
        )
    return s.ScanResultPublic(
        result=found.result.value,
        code=code,
        device=present.device(device, found.codes) if device is not None else None,
        gtin=found.gtin,
        serial=found.serial,
    )


@router.post("/scan", response_model=s.ScanResultPublic)
def scan(body: s.ScanRequest, svc: Svc, actor: CurrentActor) -> s.ScanResultPublic:
    """What a scanned payload is, in this order: one of our codes (its URL or token); a
    code bound to exactly this payload; the first of the organization's rules that reads a
    GTIN and serial from it, and the device with them. ``result`` says which: ``code``,
    ``device``, ``unknown`` (nothing you may see; still 200), or ``created`` when
    ``create`` made the device and a code bound to the payload, paired at once (needs the
    roles to edit devices and pair)."""
    found = dynamic_codes.scan(
        svc, actor, body.payload, create=body.create, attributes=body.attributes
    )
    return _scanned(svc, actor, found)
