"""Wire contracts: event payloads and cross-service request/response models, defined once."""
