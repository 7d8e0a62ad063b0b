"""The one module that talks to git (through GitPython).

Commits hold exactly the paths a command changed, never other staged or dirty files;
a failed commit (a hook said no, no identity) leaves the index as it was.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import git

from gitops_gen.errors import InputError

# Commits of this many files or more have their objects packed ahead (`pack_ahead`);
# git itself leaves fewer than fast-import's unpackLimit (100) loose anyway.
PACK_AHEAD_FROM = 100


PACK_AHEAD_REF = "refs/gitops-gen/pack-ahead"


@dataclass
class PackAhead:
    """A `git fast-import` packing a commit's objects ahead (`GitRepo.pack_ahead`)."""

    proc: subprocess.Popen[bytes]
    top: Path
    finished: bool = False

    def finish(self) -> None:
        """Wait for it to end, and remove its throw-away ref; once (then a no-op)."""
        if self.finished:
            return
        self.finished = True
        self.proc.wait()
        # also after a failure: the ref may be a killed run's (--force moved it)
        subprocess.run(["git", "update-ref", "-d", PACK_AHEAD_REF], cwd=self.top,
                       capture_output=True)


@dataclass(frozen=True)
class Identity:
    name: str
    email: str


@dataclass
class GitRepo:
    """A git repository, seen from a platform root that may be a sub-directory of it.

    Paths in and out are relative to the platform root, like everywhere else.
    """

    repo: git.Repo
    prefix: str  # platform root relative to the repository's top level, "" or "x/y/"

    def _spec(self, paths: Sequence[str]) -> list[str]:
        return [self.prefix + p for p in paths]

    def has_commits(self) -> bool:
        try:
            self.repo.head.commit  # noqa: B018 - raises on an unborn branch
        except ValueError:
            return False
        return True

    def dirty_paths(self, paths: Sequence[str]) -> list[str]:
        """Those of `paths` with uncommitted changes (staged, unstaged or untracked)."""
        if not paths:
            return []
        wanted = set(self._spec(paths))
        out = self._git("status", "--porcelain=v1", "-z", "--untracked-files=all", "--",
                        *_covering(sorted(wanted)))
        return sorted(p.removeprefix(self.prefix) for p in _status_paths(out) if p in wanted)

    def is_detached(self) -> bool:
        """HEAD names a commit, not a branch: a commit made now is on no branch."""
        return bool(self.repo.head.is_detached)

    def is_tracked(self, path: str) -> bool:
        """Whether `path` is in the index (committed, or staged to be)."""
        return bool(self.repo.git.ls_files("--", *self._spec([path])).strip())

    def in_head(self, path: str) -> bool:
        """Whether HEAD's tree holds `path` (what a clone, and Argo CD, get)."""
        if not self.has_commits():
            return False
        return bool(self.repo.git.ls_tree("HEAD", "--", *self._spec([path])).strip())

    def commit_paths(self, paths: Sequence[str], message: str, identity: Identity) -> str:
        """Commit exactly the files `paths` (added, changed or deleted); the new sha.

        As `git commit --only -- PATHS` does, the commit is made (hooks and all) from a
        temporary index: the real one with every other staged change taken back to HEAD,
        and `paths` staged. Only once it succeeded are `paths` staged in the real index
        too, so a failed commit leaves the index as it was. Paths go to git on standard
        input, never as pathspecs: git matches every file of the tree against every
        pathspec, which took 40 s for a 9,000-file commit in a 10,000-customer tree.
        """
        names = self._spec(paths)
        self.require_ready()
        before = self.repo.head.commit.hexsha if self.has_commits() else None
        try:
            with tempfile.TemporaryDirectory(prefix="gitops-gen-index-") as tmp:
                index = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
                self._index_with_only(names, index["GIT_INDEX_FILE"])
                self._stage(names, index)
                self._git("commit", "-q", "-m", message,
                          env={**index, **_identity_env(self.repo, identity)})
        except git.GitCommandError as exc:
            raise InputError(f"git commit failed, nothing committed:\n{_git_error(exc)}") from None
        made = self._git("rev-parse", "HEAD").strip()
        try:
            self._stage(names)
        except git.GitCommandError as exc:  # the index locked meanwhile (a hook, a git run)
            self._take_back(made, before)
            raise InputError("git could not stage the committed files in its index, so the "
                             f"commit was taken back; nothing committed:\n{_git_error(exc)}"
                             ) from None
        return made

    def require_ready(self) -> None:
        """InputError if git is in the middle of something a commit made now would break:
        its index locked (a commit could not be staged), or a merge, rebase, cherry-pick
        or revert stopped for the user (`git commit` would conclude it, with this
        command's files as the resolution)."""
        top = Path(self.repo.working_tree_dir or ".")
        names = ["index", *_OPERATIONS]
        found = self._git("rev-parse", "--path-format=absolute",
                          *[arg for name in names for arg in ("--git-path", name)])
        paths = dict(zip(names, (top / line for line in found.splitlines()), strict=True))
        lock = top / ((os.environ.get("GIT_INDEX_FILE") or str(paths["index"])) + ".lock")
        if lock.exists():
            raise InputError(f"git's index is locked ({lock} exists): another git command "
                             "is running, or one was killed; once none runs, remove the "
                             "file and try again. Nothing was changed")
        for name, (operation, finish) in _OPERATIONS.items():
            if paths[name].exists():
                raise InputError(f"a {operation} is in progress in this repository: {finish} "
                                 "first; a commit now would conclude it. Nothing was changed")

    def _take_back(self, made: str, before: str | None) -> None:
        """Move the branch (or detached HEAD) from the commit `made` back to `before`
        (none: the branch is unborn again), only if it still points at `made`."""
        if before is None:
            self._git("update-ref", "-d", "HEAD", made)
        else:
            self._git("update-ref", "-m", "gitops-gen: commit taken back", "HEAD", before, made)

    def pack_ahead(self, writes: Mapping[str, bytes], deletes: Sequence[str]) -> PackAhead | None:
        """Start putting the blobs and trees of a commit that will write `writes` (paths
        and their bytes) and delete `deletes` into one pack, while the command goes on
        (writing those files, validating them): `PackAhead.finish` before the commit.

        `git commit` writes each new object as a file of its own: a bump of 9,000
        customers, 9,000 blobs and 9,000 trees, 18,000 files (seconds on a busy disk, and
        then `gc --auto` repacking them). `git fast-import` writes the same objects into
        one pack (on a throw-away ref, removed again), and the commit that follows finds
        them there; started before the files are written (from the same bytes), its 0.6 s
        at 9,000 files runs on the core the writing leaves idle. Only ever a shortcut:
        the commit is made from the index as always, and writes whatever this did not
        provide (a file a filter converts, one written as another mode, say)."""
        if len(writes) + len(deletes) < PACK_AHEAD_FROM or not self.has_commits():
            return None
        stream = [b"commit %s\ncommitter gitops-gen <> 0 +0000\ndata 0\nfrom %s\n"
                  % (PACK_AHEAD_REF.encode(), self.repo.head.commit.hexsha.encode())]
        for name, content in writes.items():  # each written as a regular, plain file
            raw = os.fsencode(self.prefix + name)
            if b"\n" not in raw and not raw.startswith(b'"'):  # else fast-import's quoting
                stream.append(b"M 100644 inline %s\ndata %d\n%s\n" % (raw, len(content),
                                                                       content))
        for name in deletes:
            raw = os.fsencode(self.prefix + name)
            if b"\n" not in raw and not raw.startswith(b'"'):
                stream.append(b"D %s\n" % raw)
        top = Path(self.repo.working_tree_dir or ".")
        try:
            with tempfile.TemporaryFile() as data:  # a file, not a pipe: no thread to feed it
                data.write(b"".join(stream))
                data.seek(0)
                # --force: a run killed before removing its ref left it at another tip
                proc = subprocess.Popen(["git", "fast-import", "--quiet", "--force"], cwd=top,
                                        stdin=data, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        except OSError:  # no room for its input (a full /tmp, say): the commit does it all
            return None
        return PackAhead(proc, top)

    def files_in(self, folder: str) -> list[str]:
        """The files under `folder` (platform-relative) that `git add` would take: tracked
        ones and untracked ones not ignored."""
        out = self._git("ls-files", "-z", "--cached", "--others", "--exclude-standard",
                        "--", self.prefix + folder)
        return sorted({name.removeprefix(self.prefix) for name in out.split("\0") if name})

    def _index_with_only(self, names: Sequence[str], index: str) -> None:
        """Write to `index` the real index with the staged changes of all files but
        `names` taken back to HEAD: what a commit of `names` alone starts from. Copied,
        not read from HEAD's tree, so entries keep their stat data and the commit need not
        read and hash every file of the tree again to refresh them."""
        if not self.has_commits():
            return  # an empty index: nothing else can go into the first commit
        real = Path(self._git("rev-parse", "--path-format=absolute", "--git-path", "index")
                    .strip())
        real = Path(os.environ.get("GIT_INDEX_FILE") or real)
        env = {"GIT_INDEX_FILE": index}
        if not real.is_file():  # no index at all: HEAD's tree is what is staged
            self._git("read-tree", "HEAD", env=env)
            return
        shutil.copyfile(real, index)
        ours = set(names)
        staged = self._git("diff-index", "--cached", "-z", "--no-renames", "HEAD", env=env)
        fields = staged.split("\0")
        back = []
        for info, name in zip(fields[0::2], fields[1::2], strict=False):
            if name in ours or not info.startswith(":"):
                continue
            old_mode, _, old_sha, _, status = info[1:].split(" ")
            # added since HEAD: mode 0 removes the entry; else HEAD's mode and blob
            back.append(f"{'0' if status == 'A' else old_mode} {old_sha}\t{name}\0")
        if back:
            self._git("update-index", "-z", "--index-info", env=env, input="".join(back))

    def _stage(self, names: Sequence[str], env: Mapping[str, str] | None = None) -> None:
        """`git add -A` of exactly the files `names`: changed, new or deleted."""
        self._git("update-index", "--add", "--remove", "-z", "--stdin", env=env,
                  input="".join(f"{name}\0" for name in names))

    def _git(self, *args: str, env: Mapping[str, str] | None = None,
             input: str | None = None) -> str:
        """Run git in the repository; its standard output. Raises GitCommandError.
        File names are any bytes: one that is not UTF-8 crosses as `os` gives it (its
        bytes as surrogates), both ways."""
        proc = subprocess.run(["git", *args], cwd=self.repo.working_tree_dir,
                              env={**os.environ, **(env or {})}, input=input,
                              capture_output=True, encoding="utf-8", errors="surrogateescape")
        if proc.returncode != 0:
            raise git.GitCommandError(["git", *args], proc.returncode, proc.stderr, proc.stdout)
        return proc.stdout

    def commit_of(self, rev: str) -> str:
        """The sha of the commit `rev` names (branch, tag, `origin/main`, `HEAD~2`, sha)."""
        unknown = InputError(
            f"unknown revision {rev!r}: no such commit in {self.repo.working_tree_dir} "
            "(a branch, tag or sha; fetch a remote branch first)"
            + ("" if self.has_commits() else "; the repository has no commits yet")
        )
        if rev.startswith("-"):  # never let a revision become an option
            raise unknown
        try:
            out = self.repo.git.rev_parse("--verify", "--quiet", f"{rev}^{{commit}}")
        except git.GitCommandError:
            raise unknown from None
        return str(out).strip()

    def files_at(self, sha: str, folder: str) -> list[str]:
        """Names of the files directly in `folder` (platform-relative) as of commit `sha`;
        none if it did not exist then."""
        try:
            out = self.repo.git.ls_tree("-z", "--name-only", sha, "--",
                                        f"{self.prefix}{folder.rstrip('/')}/")
        except git.GitCommandError:
            return []
        return sorted(PurePosixPath(entry).name for entry in str(out).split("\0") if entry)

    def export_platform(self, sha: str, dest: Path) -> bool:
        """Check the platform root out as of commit `sha` into the empty directory `dest`;
        False if it did not exist then.

        A throw-away index and `checkout-index`, not `git archive`: the files come out as
        a checkout (Argo CD's) has them, which archive's export-ignore/export-subst
        attributes would change; the repository's index, worktrees and refs are untouched.
        """
        # `sha:path` names the object at path (`^{tree}` would be read as part of the path)
        treeish = f"{sha}:{self.prefix.rstrip('/')}" if self.prefix else f"{sha}^{{tree}}"
        try:
            tree = str(self.repo.git.rev_parse("--verify", "--quiet", treeish)).strip()
            if str(self.repo.git.cat_file("-t", tree)).strip() != "tree":
                return False
        except git.GitCommandError:
            return False
        with tempfile.TemporaryDirectory(prefix="gitops-gen-index-") as tmp:
            env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
            self.repo.git.read_tree(tree, env=env)
            self.repo.git.checkout_index("-a", "-f", f"--prefix={dest.resolve()}/", env=env)
        return True


@dataclass(frozen=True)
class Upstream:
    """Where `--push` goes: the current branch's tracking branch."""

    branch: str
    remote: str
    remote_branch: str

    @property
    def ref(self) -> str:
        return f"{self.remote}/{self.remote_branch}"


class PushRejected(Exception):
    """The remote moved on: fetch, replay, retry."""


class GitOps:
    """Push-side operations, used by `bump-image --push`."""

    def __init__(self, repo: GitRepo) -> None:
        self.repo = repo
        self.git = repo.repo.git

    def upstream(self) -> Upstream:
        repo = self.repo.repo
        if repo.head.is_detached:
            raise InputError(
                "cannot --push from a detached HEAD (as CI checkouts of a commit are): "
                "check out the branch first, e.g. `git checkout -B main origin/main`"
            )
        branch = repo.active_branch
        tracking = branch.tracking_branch()
        if tracking is None:
            raise InputError(
                f"branch {branch.name} has no upstream to push to: "
                f"`git branch --set-upstream-to=origin/{branch.name}`, or drop --push"
            )
        return Upstream(branch.name, tracking.remote_name, tracking.remote_head)

    def head(self) -> str:
        return str(self.repo.repo.head.commit.hexsha)

    def fetch(self, upstream: Upstream) -> None:
        self._run("fetch", "-q", upstream.remote, upstream.remote_branch)

    def push(self, upstream: Upstream) -> None:
        try:
            self.git.push("-q", "--porcelain", upstream.remote,
                          f"HEAD:refs/heads/{upstream.remote_branch}")
        except git.GitCommandError as exc:
            text = f"{exc.stdout}\n{exc.stderr}"
            if any(word in text for word in ("[rejected]", "non-fast-forward", "fetch first")):
                raise PushRejected(text) from None
            raise InputError(f"git push failed:\n{_git_error(exc)}") from None

    def show(self, rev: str, rel: str) -> str | None:
        """The text of `rel` at `rev`, or None if it does not exist there."""
        try:
            spec = f"{rev}:{self.repo.prefix}{rel}"
            return str(self.git.show(spec, strip_newline_in_stdout=False))
        except git.GitCommandError:
            return None

    def merge_text(self, base: str, ours: str, theirs: str) -> str | None:
        """Three-way merge of one file's text (`git merge-file`); None on a conflict."""
        with tempfile.TemporaryDirectory(prefix="gitops-gen-merge-") as tmp:
            paths = []
            for name, text in (("ours", ours), ("base", base), ("theirs", theirs)):
                path = Path(tmp) / name
                path.write_text(text, "utf-8")
                paths.append(str(path))
            try:
                return str(self.git.merge_file("-p", "-q", *paths,
                                               strip_newline_in_stdout=False))
            except git.GitCommandError:
                return None  # merge-file exits with the number of conflicts

    def reset_keep(self, rev: str) -> None:
        """Move the branch to `rev`, keeping unrelated local changes (never --hard)."""
        self._run("reset", "-q", "--keep", rev)

    def _run(self, *args: str) -> None:
        try:
            self.git.execute(["git", *args])
        except git.GitCommandError as exc:
            raise InputError(f"git {args[0]} failed:\n{_git_error(exc)}") from None


def open_repo(root: Path) -> GitRepo | None:
    try:
        repo = git.Repo(root, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        return None
    top = Path(repo.working_tree_dir or root).resolve()
    rel = root.resolve().relative_to(top).as_posix()
    return GitRepo(repo, "" if rel == "." else rel + "/")


# What git leaves in its directory while an operation waits for the user, and how the
# user finishes it.
_OPERATIONS = {
    "MERGE_HEAD": ("merge", "conclude it (`git commit`) or abort it (`git merge --abort`)"),
    "rebase-merge": ("rebase", "finish it (`git rebase --continue`) or abort it "
                               "(`git rebase --abort`)"),
    "rebase-apply": ("rebase or `git am`", "finish it (`--continue`) or abort it (`--abort`)"),
    "CHERRY_PICK_HEAD": ("cherry-pick", "finish it (`git cherry-pick --continue`) or abort "
                                        "it (`git cherry-pick --abort`)"),
    "REVERT_HEAD": ("revert", "finish it (`git revert --continue`) or abort it "
                              "(`git revert --abort`)"),
}


def require_repo(root: Path) -> GitRepo:
    repo = open_repo(root)
    if repo is None:
        raise InputError(f"{root} is not inside a git repository: run `git init`, or pass "
                         "--no-commit to only write the files")
    return repo


def init_repo(root: Path) -> None:
    if open_repo(root) is None:
        git.Repo.init(root, initial_branch="main")


def _identity_env(repo: git.Repo, fallback: Identity) -> Mapping[str, str]:
    """Who commits: git's own config or GIT_AUTHOR_* env first, else the platform's bot."""
    env: dict[str, str] = {}
    reader = repo.config_reader()
    for role in ("AUTHOR", "COMMITTER"):
        if not os.environ.get(f"GIT_{role}_NAME") and not reader.has_option("user", "name"):
            env[f"GIT_{role}_NAME"] = fallback.name
        if not os.environ.get(f"GIT_{role}_EMAIL") and not reader.has_option("user", "email"):
            env[f"GIT_{role}_EMAIL"] = fallback.email
    return env


def _git_error(exc: git.GitCommandError) -> str:
    text = (str(exc.stderr or "") + "\n" + str(exc.stdout or "")).strip()
    text = text.removeprefix("stderr: ").strip("'\n ")
    return "\n".join("  " + line for line in text.splitlines()[-20:]) or f"  {exc}"


def _covering(paths: Sequence[str], most: int = 64) -> list[str]:
    """At most `most` pathspecs covering `paths`: the paths themselves when few, else
    their parent directories, level by level (git matches every file against every
    pathspec: 40,000 of them took 38 s in a 10,000-customer tree, their 3 parents 0.3 s)."""
    covering = set(paths)
    while len(covering) > most:
        parents = {p.rsplit("/", 1)[0] if "/" in p else p for p in covering}
        if parents == covering:
            break
        covering = parents
    return sorted(covering)


def _status_paths(porcelain_z: str) -> list[str]:
    """Every path `git status --porcelain=v1 -z` names, the source of a rename or copy
    (which follows its entry) included."""
    fields = iter(porcelain_z.split("\0"))
    paths = []
    for entry in fields:
        if len(entry) < 4:
            continue
        paths.append(entry[3:])
        if "R" in entry[:2] or "C" in entry[:2]:
            paths.append(next(fields, ""))
    return paths
