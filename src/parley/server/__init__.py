"""The HTTP server: SageMaker contract, OpenAI API, sessions API, web page, metrics."""
