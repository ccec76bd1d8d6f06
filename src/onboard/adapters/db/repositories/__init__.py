"""Repositories: load and store domain records; every scoped read applies visible() (P5)."""

from onboard.adapters.db.repositories.activations import SqlActivations
from onboard.adapters.db.repositories.audit import SqlAudit
from onboard.adapters.db.repositories.batches import SqlBatches
from onboard.adapters.db.repositories.codes import SqlCodes, SqlNotifications
from onboard.adapters.db.repositories.devices import (
    SqlDevices,
    SqlInteractions,
    SqlServiceRecords,
    SqlTemplates,
)
from onboard.adapters.db.repositories.documents import SqlDocuments
from onboard.adapters.db.repositories.dynamic_rules import SqlDynamicRules
from onboard.adapters.db.repositories.enrollments import SqlEnrollments
from onboard.adapters.db.repositories.identity import (
    SqlCustomers,
    SqlCustomerUsers,
    SqlDepartments,
    SqlMembers,
    SqlOrganizations,
    SqlPersons,
    SqlSessions,
    SqlTokens,
)
from onboard.adapters.db.repositories.licensing import (
    SqlClientDevices,
    SqlConfigurations,
    SqlLicenses,
    SqlPairingCodes,
    SqlProducts,
)
from onboard.adapters.db.repositories.limits import SqlRateLimits
from onboard.adapters.db.repositories.onboarding import SqlOnboardingBatches
from onboard.adapters.db.repositories.provisioning import (
    SqlEnvironments,
    SqlProvisioningGroups,
    SqlRegistrations,
)

__all__ = [
    "SqlActivations",
    "SqlAudit",
    "SqlBatches",
    "SqlClientDevices",
    "SqlCodes",
    "SqlConfigurations",
    "SqlCustomerUsers",
    "SqlCustomers",
    "SqlDepartments",
    "SqlDevices",
    "SqlDocuments",
    "SqlDynamicRules",
    "SqlEnrollments",
    "SqlEnvironments",
    "SqlInteractions",
    "SqlLicenses",
    "SqlMembers",
    "SqlNotifications",
    "SqlOnboardingBatches",
    "SqlOrganizations",
    "SqlPairingCodes",
    "SqlPersons",
    "SqlProducts",
    "SqlProvisioningGroups",
    "SqlRateLimits",
    "SqlRegistrations",
    "SqlServiceRecords",
    "SqlSessions",
    "SqlTemplates",
    "SqlTokens",
]
