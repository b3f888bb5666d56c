"""The statement's security measures as pytest controls, one module per clause."""
