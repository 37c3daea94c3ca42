"""`rediscope memory`: where the memory goes (command), its report and recommendations."""
