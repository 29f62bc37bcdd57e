"""The contacts database: connections, migrations, snapshots, the apply and its audit."""
