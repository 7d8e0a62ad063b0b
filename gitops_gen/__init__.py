"""gitops-gen: compile per-customer specs into a validated, Argo CD-ready GitOps tree."""

__version__ = "0.1.0"
