"""The relational database: tables, repositories, the unit of work and migrations."""
