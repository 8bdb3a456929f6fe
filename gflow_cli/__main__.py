from gflow_cli import main

main()
