from catalog_synth.cli import main

main()
