"""Expression models: network definitions, the classifier wrapper and the face detector."""
