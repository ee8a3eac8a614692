"""Listing a team's media, newest first: all of it, or by tags (any or all of them).

Tag filters read the tag-link partitions of gsi1 (see `imgpro.models`). `tag_mode=all`
intersects the tags' links, starting from the rarest tag, and reads an item only once
its link is in every partition; it spends at most `TAG_SEARCH_READ_UNITS` looking, and
when that runs out answers a shorter page with a cursor to go on from (docs/decisions.md,
"Listing by every tag").
"""

from __future__ import annotations

import heapq
import itertools
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from pynamodb.expressions.condition import Condition

from imgpro.media import store
from imgpro.media.records import Page
from imgpro.models import GSI1, MediaItem, TagLink, tag_partition, team_pk
from imgpro.pagination import cursor_from_sort_key
from imgpro.validation import TagFilterMode, tag_key

TAG_SEARCH_READ_UNITS = 50.0
"""Read units (as DynamoDB reports them) one `tag_mode=all` request spends on tag links
before it answers with what it found and a cursor. A page of links costs 0.5 to 3 units,
so this is some 20 to 100 pages. The items on the page are read on top of it: one read
each, at most `limit` + 1, as for any listing."""
LINKS_PER_PAGE = 100
"""Links one Query of a tag partition reads: the first page of each tag is its probe."""


def list_media(
    team_id: str,
    *,
    limit: int,
    before: str | None = None,
    offset: int = 0,
    tags: Sequence[str] = (),
    tag_mode: TagFilterMode = "any",
) -> Page:
    """The team's media, newest first.

    `before` is the gsi1sk bound decoded from a cursor (exclusive); `offset` skips
    items for legacy pagination. Reads limit+1 items to know whether more exist.
    """
    wanted = offset + limit + 1
    scan: _AllTags | None = None
    if tags and tag_mode == "all":
        scan = _AllTags(team_id, tags, before=before, wanted=wanted)
        candidates: Iterator[MediaItem] = iter(scan)
    elif tags:
        candidates = _tagged_any(team_id, tags, before=before, page_size=min(max(wanted, 10), 200))
    else:
        candidates = _team_items(team_id, before=before, page_size=min(wanted, 200))
    window = list(itertools.islice(candidates, offset, wanted))
    items = [store.to_media(item) for item in window[:limit]]
    if len(window) > limit:
        return Page(items=items, has_more=True, next_cursor=items[-1].cursor)
    if scan is not None and scan.stopped_at is not None:
        # A short page: the search spent its read units before finding a full page. The
        # cursor resumes below the last link decided, so nothing is skipped or repeated.
        return Page(items=items, has_more=True, next_cursor=cursor_from_sort_key(scan.stopped_at))
    return Page(items=items, has_more=False)


class _OutOfUnits(Exception):
    """The request's read units for looking are spent."""


class _Links:
    """One tag's links below the cursor, newest first, read a page at a time.

    `seek(key)` reads the page at or below `key` directly: links above it are of no
    interest once the search has gone past them."""

    def __init__(self, search: _AllTags, tag: str, before: str | None) -> None:
        self._search = search
        self._partition = tag_partition(search.team_id, tag_key(tag))
        self.buffer: deque[TagLink] = deque()
        self.exhausted = False
        self.reached = before  # the lowest key read so far (exclusive bound of the next)

    def read(self, *, at_most: str | None = None) -> None:
        """The next page: below what was read, or from `at_most` down (inclusive)."""
        condition: Condition | None = None
        if at_most is not None:
            condition = TagLink.gsi1sk <= at_most
        elif self.reached is not None:
            condition = TagLink.gsi1sk < self.reached
        data = self._search.query(self._partition, condition)
        self.buffer.extend(TagLink.from_raw_data(raw) for raw in data.get("Items", []))
        last = data.get("LastEvaluatedKey")
        self.exhausted = last is None
        if last is not None:
            self.reached = str(last["gsi1sk"]["S"])
        elif self.buffer:
            self.reached = self.buffer[-1].gsi1sk

    def holds(self, key: str) -> bool:
        """Whether this tag has a link at `key`; reads on (seeking) only when needed."""
        while True:
            while self.buffer and self.buffer[0].gsi1sk > key:
                self.buffer.popleft()
            if self.buffer:
                return self.buffer[0].gsi1sk == key
            if self.exhausted:
                return False
            self._search.charge()
            self.read(at_most=key)

    def rarity(self) -> tuple[int, int, str]:
        """Sorts the rarest tag first, from its first page: a tag read to its end by the
        number of its links; any other by how far back its page reached (the older its
        last link, the sparser the tag)."""
        if self.exhausted:
            return (0, len(self.buffer), "")
        return (1, 0, self.reached or "")


class _AllTags:
    """Media carrying every one of `tags`, newest first: an intersection of the tags'
    links, which are each sorted by gsi1sk.

    One page of every tag first (the probe). The rarest tag drives: each of its links is
    looked up in the others' pages, rarest first, seeking down a partition only when its
    page does not reach the link yet. An item is read only for a link found in every
    partition. Looking stops once `TAG_SEARCH_READ_UNITS` are spent (and at least one
    link was decided, so that every request moves on); `stopped_at` is then the last
    link decided, and every match above it has been yielded.
    """

    def __init__(
        self, team_id: str, tags: Sequence[str], *, before: str | None, wanted: int
    ) -> None:
        self.team_id = team_id
        self.stopped_at: str | None = None
        self.units = 0.0
        self._before = before
        self._wanted = wanted
        self._required = store.tag_keys(tags)
        self._tags = list({tag_key(tag): tag for tag in tags}.values())
        self._decided: str | None = None

    def query(self, partition: str, condition: Condition | None) -> dict[str, Any]:
        """One Query of a tag partition, its read units counted."""
        data: dict[str, Any] = TagLink._get_connection().query(
            partition,
            range_key_condition=condition,
            filter_condition=store.live_filter(TagLink),
            index_name=GSI1,
            limit=LINKS_PER_PAGE,
            scan_index_forward=False,
            return_consumed_capacity="TOTAL",
        )
        self.units += float((data.get("ConsumedCapacity") or {}).get("CapacityUnits", 0))
        return data

    def charge(self) -> None:
        """Before another Query: stop if the units are spent and a link was decided."""
        if self._decided is not None and self.units >= TAG_SEARCH_READ_UNITS:
            raise _OutOfUnits()

    def __iter__(self) -> Iterator[MediaItem]:
        streams = [_Links(self, tag, self._before) for tag in self._tags]
        for stream in streams:
            stream.read()
        streams.sort(key=_Links.rarity)
        driver, others = streams[0], streams[1:]
        found: list[TagLink] = []
        yielded = 0
        try:
            while True:
                if not driver.buffer:
                    if driver.exhausted:
                        break
                    self.charge()
                    driver.read()
                    continue
                link = driver.buffer.popleft()
                if all(other.holds(link.gsi1sk) for other in others):
                    found.append(link)
                self._decided = link.gsi1sk
                if len(found) >= self._wanted - yielded:
                    for item in self._resolve(found):
                        yielded += 1
                        yield item
                    found = []
        except _OutOfUnits:
            self.stopped_at = self._decided
        yield from self._resolve(found)

    def _resolve(self, links: list[TagLink]) -> Iterator[MediaItem]:
        """The items behind matching links, in link order; each checked again (its tags
        may have changed since its links were read)."""
        found = store.load_many_owned([link.uid for link in links], self.team_id)
        for link in links:
            item = found.get(link.uid)
            if item is not None and self._required <= store.tag_keys(item.tags or ()):
                yield item


def _team_items(team_id: str, *, before: str | None, page_size: int) -> Iterator[MediaItem]:
    return MediaItem.by_team.query(
        team_pk(team_id),
        range_key_condition=MediaItem.gsi1sk < before if before else None,
        filter_condition=store.live_filter(MediaItem),
        scan_index_forward=False,
        page_size=page_size,
    )


def _tag_links(team_id: str, tag: str, *, before: str | None, page_size: int) -> Iterator[TagLink]:
    return TagLink.by_tag.query(
        tag_partition(team_id, tag_key(tag)),
        range_key_condition=TagLink.gsi1sk < before if before else None,
        filter_condition=store.live_filter(TagLink),
        scan_index_forward=False,
        page_size=page_size,
    )


def _tagged_any(
    team_id: str, tags: Sequence[str], *, before: str | None, page_size: int
) -> Iterator[MediaItem]:
    """Media carrying any of `tags`, newest first: the tag partitions are each sorted by
    gsi1sk, so a lazy merge of them, without repeats, is sorted too."""
    streams = [_tag_links(team_id, tag, before=before, page_size=page_size) for tag in tags]
    merged = heapq.merge(*streams, key=lambda link: link.gsi1sk, reverse=True)
    return _resolve(_first_of_each(merged), team_id, keep=None)


def _first_of_each(links: Iterator[TagLink]) -> Iterator[TagLink]:
    """One link per media: a media tagged with two of the wanted tags comes up twice."""
    last: str | None = None
    for link in links:
        if link.gsi1sk != last:
            last = link.gsi1sk
            yield link


def _resolve(
    links: Iterator[TagLink], team_id: str, *, keep: Callable[[MediaItem], bool] | None
) -> Iterator[MediaItem]:
    """Fetch the media items behind tag links, in link order, a batch at a time."""
    while True:
        chunk = list(itertools.islice(links, 25))
        if not chunk:
            return
        found = store.load_many_owned([link.uid for link in chunk], team_id)
        for link in chunk:
            item = found.get(link.uid)
            if item is not None and (keep is None or keep(item)):
                yield item
