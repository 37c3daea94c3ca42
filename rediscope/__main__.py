from rediscope.cli.app import main

main()
