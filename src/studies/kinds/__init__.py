"""The built-in study kinds, one module each; the package's entry points (group `gatedse.study_kinds`) name them."""
