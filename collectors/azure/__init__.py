"""Azure Resource Manager collectors, built on azure-identity and the azure-mgmt-* SDK clients."""
