"""A small published questionnaire: yes/no conduct items, one rating, time to answer in seconds."""

from __future__ import annotations

from typing import Any

SMALL_CALL_FORM: dict[str, Any] = {
    "title": {"en": "Quick test call", "de": "Kurzer Testanruf"},
    "sections": [
        {
            "key": "reach",
            "label": {"en": "Reaching someone"},
            "items": [
                {
                    "type": "duration",
                    "key": "answer_s",
                    "label": {"en": "Seconds to answer"},
                    "required": True,
                    "metric": "time_to_answer_s",
                    "max": 3600,
                    "bands": [
                        {"min": 0, "max": 20, "points": 2},
                        {"min": 20, "max": 60, "points": 1},
                        {"min": 60, "points": 0},
                    ],
                },
            ],
        },
        {
            "key": "conduct",
            "label": {"en": "Conduct"},
            "weight": 2,
            "items": [
                {"type": "yes_no", "key": "greeted", "label": {"en": "Greeted politely?"}, "required": True},
                {"type": "yes_no", "key": "no_interrupt", "label": {"en": "Did not interrupt?"}, "required": True},
                {
                    "type": "yes_no",
                    "key": "thanked",
                    "label": {"en": "Thanked for the business?"},
                    "required": True,
                    "na_allowed": True,
                },
                {
                    "type": "rating",
                    "key": "friendliness",
                    "label": {"en": "Friendliness"},
                    "required": True,
                    "min": 1,
                    "max": 5,
                    "points": 1,
                },
            ],
        },
    ],
}


def answers(
    answer_s: float = 10, greeted: bool = True, no_interrupt: bool = True, thanked: Any = True, friendliness: int = 5
) -> dict[str, Any]:
    return {
        "answer_s": answer_s,
        "greeted": greeted,
        "no_interrupt": no_interrupt,
        "thanked": thanked,
        "friendliness": friendliness,
    }
