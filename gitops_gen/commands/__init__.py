"""One module per subcommand. Each takes plain keyword arguments and returns an exit code."""
