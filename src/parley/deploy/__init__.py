"""Deployment: DJL Serving / SageMaker LMI artifacts, the SageMaker endpoint lifecycle, and the
bring-your-own-container `serve` entry point."""
