"""The workflow the provenance-browser tests record: a fan-out, a File, and a failure."""

from remit import File, task

remit_namespace = "uitest"


@task()
def square(x: int) -> int:
    return x * x


@task()
def fanout(n: int) -> list:
    return [square(i) for i in range(n)]


@task()
def write(values: list, path: str) -> File:
    out = File(path)
    out.write("\n".join(str(v) for v in values) + "\n")
    return out


@task()
def count_lines(data: File) -> int:
    return len(data.read().splitlines())


@task()
def main(n: int = 8, path: str = "out.txt") -> list:
    squares = fanout(n)
    return [count_lines(write(squares, path)), squares]


@task()
def explode(n: int) -> int:
    raise ValueError(f"exploded at {n}")


@task()
def broken(n: int = 3) -> list:
    return [square(n), explode(n)]
