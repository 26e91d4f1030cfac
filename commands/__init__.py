"""The `/aio` command catalog: one module per subcommand, and the registry."""
