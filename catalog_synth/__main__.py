from catalog_synth.entry.cli import main

main()
