"""Design-space exploration: cost model, Optuna studies, Pareto fronts, and the `dse` command."""
