"""A class from elsewhere taught to remit with a ProxyValue: hash, parsing, pickling."""

import hashlib
import json

from remit import task
from remit.value import ProxyValue

remit_namespace = "redun_style.custom_values"


class Member:
    """Stands for a model class from another library (we cannot add methods to it)."""

    def __init__(self, id: int, name: str = "Jane Doe") -> None:
        self.id = id
        self.name = name

    def to_json(self) -> str:
        return json.dumps({"id": self.id, "name": self.name}, sort_keys=True)


class MemberValue(ProxyValue):
    type = Member

    @classmethod
    def parse_arg(cls, raw_type: type, arg: str) -> Member:
        # `remit run custom_values.py main --member '{"id": 7}'`
        return Member(**json.loads(arg))

    def get_hash(self) -> str:
        return hashlib.sha1(self.instance.to_json().encode("utf8")).hexdigest()

    def serialize(self) -> bytes:
        return self.instance.to_json().encode("utf8")

    @classmethod
    def deserialize(cls, raw_type: type, data: bytes) -> Member:
        return Member(**json.loads(data))


@task()
def main(member: Member) -> str:
    return f"Hello, {member.name}. Your id is {member.id}"
