from skillflow.cli import main

main()
