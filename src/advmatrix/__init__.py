"""advmatrix: the Adversarial ML Threat Matrix (MITRE ATLAS), executable."""

__version__ = "0.1.0"
