from opendream.cli import main

main()
