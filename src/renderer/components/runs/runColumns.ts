// Columns of the runs table. Render functions live here so RunsView stays about data flow.
import { h } from 'vue';
import { NTag } from 'naive-ui';
import type { DataTableColumns } from 'naive-ui';
import type { Run, RunQuery } from '../../../shared/api';
import { STATUS_TAG } from './runMeta';
import { formatDateTime, formatDuration, formatRelative } from '../../composables/format';

type SortKey = NonNullable<RunQuery['sort']>;

export function runColumns(opts: {
  sort: SortKey;
  order: 'asc' | 'desc';
  /** Reference time for "5 min ago"; the view advances it so relative times stay true. */
  now: number;
  onTag: (tag: string) => void;
}): DataTableColumns<Run> {
  const sortOrder = (key: SortKey) => (opts.sort === key ? (opts.order === 'asc' ? 'ascend' : 'descend') : false);
  return [
    // Checkboxes for exporting several runs at once; the selection is kept by the view across pages.
    { type: 'selection', width: 36 },
    {
      title: 'Title',
      key: 'title',
      sorter: true,
      sortOrder: sortOrder('title'),
      ellipsis: { tooltip: true },
      minWidth: 220,
      render: (run) => h('span', { class: 'run-title', 'data-testid': 'run-title' }, run.title),
    },
    { title: 'Kind', key: 'kind', sorter: true, sortOrder: sortOrder('kind'), width: 92 },
    {
      title: 'Status',
      key: 'status',
      sorter: true,
      sortOrder: sortOrder('status'),
      width: 104,
      render: (run) =>
        h(NTag, { size: 'small', bordered: false, type: STATUS_TAG[run.status], title: run.error ?? undefined }, () => run.status),
    },
    {
      title: 'Model',
      key: 'model',
      sorter: true,
      sortOrder: sortOrder('model'),
      width: 150,
      ellipsis: { tooltip: true },
      render: (run) => (run.model ? h('span', { class: 'mono' }, run.model) : h('span', { class: 'none' }, '—')),
    },
    {
      title: 'Tags',
      key: 'tags',
      minWidth: 140,
      render: (run) =>
        h(
          'span',
          { class: 'tags' },
          run.tags.map((t) =>
            h(
              NTag,
              {
                size: 'tiny',
                round: true,
                title: `Show only runs tagged “${t}”`,
                style: 'cursor: pointer',
                onClick: (e: MouseEvent) => {
                  e.stopPropagation();
                  opts.onTag(t);
                },
              },
              () => t,
            ),
          ),
        ),
    },
    {
      title: 'Duration',
      key: 'duration',
      width: 92,
      render: (run) => (run.status === 'running' ? h('span', { class: 'none' }, 'running') : formatDuration(run.createdAt, run.finishedAt)),
    },
    {
      title: 'Created',
      key: 'createdAt',
      sorter: true,
      sortOrder: sortOrder('createdAt'),
      width: 112,
      render: (run) => h('span', { title: formatDateTime(run.createdAt) }, formatRelative(run.createdAt, opts.now)),
    },
  ];
}
