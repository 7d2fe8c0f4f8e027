from officescore.cli import main

main()
