"""The neural-network side: data, models, quantization and the study kinds."""
