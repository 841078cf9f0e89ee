"""The write side: command messages, their handlers, and the event-sourced application."""
