from gitops_gen.cli import main

if __name__ == "__main__":  # not in the worker processes multiprocessing spawns
    raise SystemExit(main())
