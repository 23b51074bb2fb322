"""Library tasks for the AWS Batch example: code in subpackages travels in the code package."""
