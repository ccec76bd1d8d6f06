"""The domain's error hierarchy: each error carries a stable code for API clients (SPEC P10)."""

from __future__ import annotations

from typing import ClassVar


class DomainError(Exception):
    """A business rule said no. Carries a stable code for API clients."""

    code: ClassVar[str] = "domain_error"
    title: ClassVar[str] = "Request refused"

    def __init__(self, detail: str, *, fields: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.fields = fields or {}


class Invalid(DomainError):
    """The input breaks a rule about its shape or values."""

    code = "invalid"
    title = "Invalid input"


class NotFound(DomainError):
    """The thing does not exist, or the actor may not see it (the two look the same)."""

    code = "not_found"
    title = "Not found"


class Forbidden(DomainError):
    """The actor is known but may not do this."""

    code = "forbidden"
    title = "Forbidden"


class Unauthenticated(DomainError):
    """No valid credentials came with the request."""

    code = "unauthenticated"
    title = "Authentication required"


class Conflict(DomainError):
    """The request clashes with the current state."""

    code = "conflict"
    title = "Conflict"


class RateLimited(DomainError):
    """Too many attempts; try again after ``retry_after`` seconds."""

    code = "rate_limited"
    title = "Too many requests"

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class InvalidCredentials(Unauthenticated):
    """Email and password do not match a person (deliberately vague)."""

    code = "invalid_credentials"
    title = "Invalid email or password"


class SignInLocked(RateLimited):
    """Too many failed sign-ins for this email or address."""

    code = "sign_in_locked"


class PermissionDenied(Forbidden):
    """The actor's roles do not grant the permission."""

    code = "permission_denied"


class DepartmentForbidden(Forbidden):
    """A restricted member tried to use departments outside their own (SPEC P5)."""

    code = "department_forbidden"


class NameTaken(Conflict):
    """Another record in the organization already has this name."""

    code = "name_taken"


class EmailTaken(Conflict):
    """A person with this email is already a member or customer user here."""

    code = "email_taken"


class BatchNumberTaken(Conflict):
    """Another batch of the organization has this number."""

    code = "batch_number_taken"


class LastAdministrator(Conflict):
    """The organization would be left without an unrestricted Administrator."""

    code = "last_administrator"


class InUse(Conflict):
    """The record is still used by others and cannot be deleted."""

    code = "in_use"


class CodeAlreadyPaired(Conflict):
    """The code is paired with another device; unpair it first (SPEC A6)."""

    code = "code_already_paired"


class CodeNotPaired(Conflict):
    """The code is not paired with any device (SPEC A9, A13)."""

    code = "code_not_paired"


class CodeDeactivated(Conflict):
    """A deactivated code can neither be paired nor used (SPEC A6, A10)."""

    code = "code_deactivated"


class InvalidAttributes(Invalid):
    """Device attributes do not fit the template's fields (SPEC A4)."""

    code = "invalid_attributes"


class WrongPin(Forbidden):
    """The PIN entered for a code is wrong (SPEC A11)."""

    code = "wrong_pin"


class PinLocked(RateLimited):
    """Too many wrong PINs for this code from this client (SPEC A11)."""

    code = "pin_locked"


class NotificationLimited(RateLimited):
    """Too many notifications from this client (SPEC A13)."""

    code = "notification_rate_limited"


class FileTooLarge(DomainError):
    """An uploaded file is over the configured size limit (SPEC A3)."""

    code = "file_too_large"
    title = "File too large"


class PinRequired(Forbidden):
    """The code has a PIN that this client has not entered yet (SPEC A11, A12)."""

    code = "pin_required"


class UnsupportedFileType(DomainError):
    """An uploaded file's bytes are not of a type accepted there (SPEC A3): the type is
    read from the content, never taken from the client's word."""

    code = "unsupported_file_type"
    title = "Unsupported file type"


class GtinTaken(Conflict):
    """Another template of the organization has this GTIN (SPEC A14)."""

    code = "gtin_taken"


class GtinSerialTaken(Conflict):
    """Another device of the organization has this GTIN and serial (SPEC A14)."""

    code = "gtin_serial_taken"


class Gone(DomainError):
    """What was asked for existed but can no longer be used (HTTP 410)."""

    code = "gone"
    title = "No longer usable"


class NoFreeLicense(Conflict):
    """Every license of the product is taken; more licenses are needed (SPEC B7)."""

    code = "no_free_license"
    title = "No free license"


class LicenseNotFree(Conflict):
    """The license serves a device (or has expired): no single-use code for it (B4)."""

    code = "license_not_free"


class PairingCodeExpired(Gone):
    """The pairing code's validity has ended (SPEC B7)."""

    code = "pairing_code_expired"


class PairingCodeUsed(Gone):
    """The pairing code has no uses left (SPEC B4, B7)."""

    code = "pairing_code_used"


class PairingCodeRevoked(Gone):
    """The pairing code was revoked (SPEC B3, B7)."""

    code = "pairing_code_revoked"


class EnrollmentForbidden(Forbidden):
    """Only Administrators, or members who are both Device Manager and IoT Manager, create,
    import or delete enrollments (SPEC C8)."""

    code = "enrollment_forbidden"
    title = "Enrollment not allowed"


class InvalidTransition(Conflict):
    """An enrollment cannot move from its state to that one (SPEC C2)."""

    code = "invalid_transition"
    title = "Not possible in this state"


class InvalidSignature(Unauthenticated):
    """A device's proof does not verify with its key (§6)."""

    code = "invalid_signature"
    title = "Invalid signature"


class SignatureExpired(Unauthenticated):
    """A device's proof names a time in the past or more than an hour ahead (§6)."""

    code = "signature_expired"
    title = "Signature expired"


class NotEnrolled(NotFound):
    """No enrollment waits for this serial (§6)."""

    code = "not_enrolled"
    title = "Not enrolled"


class AlreadyEnrolled(Conflict):
    """The serial has an enrollment that is not unenrolled (SPEC C6, C7)."""

    code = "already_enrolled"
    title = "Already enrolled"


class NotRegistered(Forbidden):
    """The serial is not registered in its group, which takes only serials registered in
    advance, or the group is unknown (§6, D3)."""

    code = "not_registered"
    title = "Not registered"


class RegistrationDisabled(Forbidden):
    """The serial's registration is disabled (D4)."""

    code = "registration_disabled"
    title = "Registration disabled"


class ReprovisionRefused(Conflict):
    """The group's reprovision policy, or the move asked for, refuses it (D6)."""

    code = "reprovision_refused"
    title = "Reprovisioning refused"


class NoEnvironment(Conflict):
    """None of the group's environments is up to send a device to (D4)."""

    code = "no_environment"
    title = "No environment up"


class AlreadyOnboarded(Conflict):
    """The device is onboarded into another organization (or activated there) already (D5)."""

    code = "already_onboarded"
    title = "Already onboarded"


class ClaimNotAllowed(Forbidden):
    """The device's provisioning group does not let the member's organization claim it (D5)."""

    code = "claim_not_allowed"
    title = "Claim not allowed"


class NothingToLabel(Invalid):
    """Every enabled registration of the group is in a batch already (D5)."""

    code = "nothing_to_label"
    title = "Nothing to label"
