"""onboard: devices from the factory to the field, tracked for life."""

__version__ = "0.1.0"
