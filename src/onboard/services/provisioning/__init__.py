"""Provisioning (SPEC Part D, P2): environments, provisioning groups, registrations of
serials, plug-and-play activation."""
