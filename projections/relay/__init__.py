"""Integration events: every stored event published to RabbitMQ, and the consumer helper."""
