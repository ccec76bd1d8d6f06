"""Signing in and out, choosing the organization to work in, and changing one's password
(SPEC P4)."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import Request, Response
from fastapi.responses import RedirectResponse

from onboard.domain.errors import Invalid, InvalidCredentials, SignInLocked
from onboard.entrypoints import http
from onboard.entrypoints.http import status_of
from onboard.entrypoints.web.forms import CsrfField, NextField, NextQuery, Text, safe_next
from onboard.entrypoints.web.layout import member_of
from onboard.entrypoints.web.rendering import FormErrors, form_errors, redirect, render
from onboard.entrypoints.web.routing import web_router
from onboard.entrypoints.web.session import SignedIn, Svc
from onboard.services import auth
from onboard.services.auth import WorkContext

router = web_router()


def after_sign_in(contexts: list[WorkContext], next_url: str) -> str:
    """Where a fresh session goes: straight in when there is one place to work, to the
    portal for a customer user, otherwise to the choice of organization."""
    if len(contexts) == 1:
        return "/portal" if contexts[0].kind == "customer" else next_url
    return f"/choose?{urlencode({'next': next_url}, safe='/')}"


def login_page(
    request: Request,
    *,
    mobile: bool,
    email: str = "",
    next_url: str = "",
    errors: FormErrors | None = None,
    status: int | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    template = "mobile/login.html" if mobile else "auth/login.html"
    return render(
        request,
        template,
        {"email": email, "next": next_url},
        errors=errors or FormErrors(),
        status=status,
        headers=headers,
    )


def show_login(request: Request, next_url: str | None, *, mobile: bool) -> Response:
    """The sign-in form; a member already signed in goes on at once."""
    home = "/m" if mobile else "/"
    if member_of(request) is not None:
        return RedirectResponse(safe_next(next_url, home), status_code=303)
    return login_page(request, mobile=mobile, next_url=safe_next(next_url, ""))


def sign_in(
    request: Request, *, email: str, password: str, next_url: str, mobile: bool
) -> Response:
    """Check the password (rate-limited by the use case), open the session and set its
    cookie; a refusal shows the form again with the reason."""
    container = http.container(request)
    home = "/m" if mobile else "/"
    next_url = safe_next(next_url, "")
    try:
        signed = auth.sign_in(
            container.services,
            container.sign_in_policy,
            email=email,
            password=password,
            source_ip=http.client_ip(request),
        )
    except (SignInLocked, InvalidCredentials) as error:
        retry = {"Retry-After": str(error.retry_after)} if isinstance(error, SignInLocked) else None
        return login_page(
            request,
            mobile=mobile,
            email=email,
            next_url=next_url,
            errors=form_errors(error),
            status=status_of(error),
            headers=retry,
        )
    previous = http.session_of(request)
    if previous is not None:
        auth.sign_out(container.services, previous[0].id)
    response = RedirectResponse(after_sign_in(signed.contexts, next_url or home), status_code=303)
    http.set_cookie(
        request,
        response,
        http.SESSION_COOKIE,
        signed.token,
        max_age=container.sign_in_policy.session_hours * 3600,
    )
    return response


@router.get("/login")
def login_form(request: Request, next_url: NextQuery = None) -> Response:
    return show_login(request, next_url, mobile=False)


@router.post("/login")
def login(
    request: Request,
    csrf: CsrfField = "",
    email: Text = "",
    password: Text = "",
    next_url: NextField = "",
) -> Response:
    http.check_csrf(request, csrf)
    return sign_in(request, email=email, password=password, next_url=next_url, mobile=False)


@router.post("/logout")
def logout(request: Request, svc: Svc, csrf: CsrfField = "", next_url: NextField = "") -> Response:
    """End the session on the server and forget its cookie."""
    http.check_csrf(request, csrf)
    found = http.session_of(request)
    if found is not None:
        auth.sign_out(svc, found[0].id)
    target = safe_next(next_url, "/login")
    response = redirect(request, target, notice="You have signed out.")
    response.delete_cookie(http.SESSION_COOKIE, path="/")
    return response


@router.get("/choose")
def choose_form(
    request: Request, svc: Svc, session: SignedIn, next_url: NextQuery = None
) -> Response:
    contexts = auth.work_contexts(svc, session)
    current = session.member_id or session.customer_user_id
    return render(
        request,
        "auth/choose.html",
        {"contexts": contexts, "current": current, "next": safe_next(next_url, "")},
    )


@router.post("/choose")
def choose(
    request: Request,
    svc: Svc,
    session: SignedIn,
    csrf: CsrfField = "",
    context: Text = "",
    next_url: NextField = "",
) -> Response:
    """Work in another organization, or as a customer user."""
    http.check_csrf(request, csrf)
    chosen = auth.choose_context(svc, session, context)
    if chosen.customer_user_id is not None:
        return redirect(request, "/portal")
    return redirect(request, safe_next(next_url, "/"))


@router.get("/account")
def account_form(request: Request, session: SignedIn) -> Response:
    return render(request, "auth/account.html", {"area": "account"})


@router.post("/account")
def change_password(
    request: Request,
    svc: Svc,
    session: SignedIn,
    csrf: CsrfField = "",
    current_password: Text = "",
    new_password: Text = "",
    confirm_password: Text = "",
) -> Response:
    """Change one's own password; every session of the person ends, this one too, so the
    person signs in again with the new password."""
    http.check_csrf(request, csrf)
    if new_password != confirm_password:
        errors = FormErrors(
            "The new password and its confirmation differ.",
            {"confirm_password": "does not match the new password"},
        )
        return render(request, "auth/account.html", {"area": "account"}, errors=errors, status=422)
    try:
        auth.change_password(svc, session.person_id, current=current_password, new=new_password)
    except (Invalid, InvalidCredentials) as error:
        return render(
            request,
            "auth/account.html",
            {"area": "account"},
            errors=form_errors(error, fields={"password": "new_password"}),
            status=status_of(error),
        )
    response = redirect(
        request, "/login", notice="Your password has been changed. Sign in with the new one."
    )
    response.delete_cookie(http.SESSION_COOKIE, path="/")
    return response
