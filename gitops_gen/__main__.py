from gitops_gen.cli import main

if __name__ == "__main__":  # importing the module (as spawned processes do) runs nothing
    raise SystemExit(main())
