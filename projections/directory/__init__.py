"""The directory read model: users, households and who belongs where."""
