"""Licensed client devices (SPEC Part B): products and licenses granted in numbers,
reusable and single-use pairing codes, configurations, a device pairing by scanning a code
(B5, exact under concurrency, B6), and its check-ins (B8, B9). One module per concept;
the use cases are named here, as callers use them (``licensing.pair``)."""

from onboard.services.licensing.checkin import UNPAIR, CheckIn, acknowledge, checkin
from onboard.services.licensing.configurations import (
    MAX_ASSIGNED_AT_ONCE,
    assign_configuration,
    create_configuration,
    get_configuration,
    list_configurations,
)
from onboard.services.licensing.device_pairing import (
    PAIR_ATTEMPTS,
    PAIR_WINDOW_SECONDS,
    HardwareReport,
    Paired,
    check_pair_rate,
    pair,
)
from onboard.services.licensing.pairing_codes import (
    IssuedCode,
    create_pairing_code,
    list_pairing_codes,
    revoke_pairing_code,
    single_use_code,
)
from onboard.services.licensing.products import (
    create_product,
    get_product,
    grant_licenses,
    list_licenses,
    list_products,
)

__all__ = [
    "MAX_ASSIGNED_AT_ONCE",
    "PAIR_ATTEMPTS",
    "PAIR_WINDOW_SECONDS",
    "UNPAIR",
    "CheckIn",
    "HardwareReport",
    "IssuedCode",
    "Paired",
    "acknowledge",
    "assign_configuration",
    "check_pair_rate",
    "checkin",
    "create_configuration",
    "create_pairing_code",
    "create_product",
    "get_configuration",
    "get_product",
    "grant_licenses",
    "list_configurations",
    "list_licenses",
    "list_pairing_codes",
    "list_products",
    "pair",
    "revoke_pairing_code",
    "single_use_code",
]
