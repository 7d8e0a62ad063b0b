from gitops_gen.cli import run

if __name__ == "__main__":  # importing the module (as spawned processes do) runs nothing
    run()
