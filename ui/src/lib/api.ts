// Typed calls to the Rust commands. The shapes come from src-tauri/src/dto.rs
// through ts-rs (src/bindings/, generated: never edit by hand).

import { invoke } from '@tauri-apps/api/core';
import { listen, type UnlistenFn } from '@tauri-apps/api/event';
import type { AppError } from '../bindings/AppError';
import type { AppStatus } from '../bindings/AppStatus';
import type { CardPreview } from '../bindings/CardPreview';
import type { DuplicateView } from '../bindings/DuplicateView';
import type { FieldMessage } from '../bindings/FieldMessage';
import type { Home } from '../bindings/Home';
import type { HouseholdItem } from '../bindings/HouseholdItem';
import type { HouseholdView } from '../bindings/HouseholdView';
import type { Person } from '../bindings/Person';
import type { PrintLayout } from '../bindings/PrintLayout';
import type { Printed } from '../bindings/Printed';
import type { QueueItem } from '../bindings/QueueItem';
import type { RecordView } from '../bindings/RecordView';
import type { Saved } from '../bindings/Saved';
import type { SyncOverview } from '../bindings/SyncOverview';
import type { SyncProgress } from '../bindings/SyncProgress';
import type { SyncReport } from '../bindings/SyncReport';
import type { Verdict } from '../bindings/Verdict';

export type {
  AppStatus,
  CardPreview,
  DuplicateView,
  FieldMessage,
  Home,
  HouseholdItem,
  HouseholdView,
  Person,
  Printed,
  QueueItem,
  RecordView,
  Saved,
  SyncOverview,
  SyncProgress,
  SyncReport,
  Verdict,
};

export type RecordJson = Record<string, unknown>;

/** A command's failure: a stable code the UI switches on. */
export class AppErr extends Error {
  code: string;
  fields: FieldMessage[];
  duplicates: DuplicateView[];
  constructor(e: AppError) {
    super(e.message);
    this.code = e.code;
    this.fields = e.fields ?? [];
    this.duplicates = e.duplicates ?? [];
  }
}

export function toAppErr(e: unknown): AppErr {
  if (e instanceof AppErr) return e;
  if (e && typeof e === 'object' && 'code' in e && 'message' in e) return new AppErr(e as AppError);
  return new AppErr({ code: 'internal', message: String(e), fields: [], duplicates: [] });
}

async function call<T>(cmd: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(cmd, args);
  } catch (e) {
    throw toAppErr(e);
  }
}

export const api = {
  status: () => call<AppStatus>('app_status'),
  setLang: (lang: string) => call<void>('set_lang', { lang }),
  provision: (server: string, code: string, passphrase: string, worker: string | null) =>
    call<AppStatus>('provision', { server, code, passphrase, worker }),
  unlock: (passphrase: string) => call<AppStatus>('unlock', { passphrase }),
  lock: () => call<AppStatus>('lock'),
  home: () => call<Home>('home'),
  search: (text: string, limit = 50) => call<Person[]>('search', { text, limit }),
  households: (ward: number | null, limit = 300) => call<HouseholdItem[]>('households', { ward, limit }),
  household: (id: string) => call<HouseholdView>('household', { id }),
  show: (id: string) => call<RecordView>('show', { id }),
  setStatus: (id: string, status: string) => call<RecordView>('set_status', { id, status }),
  validate: (record: RecordJson) => call<FieldMessage[]>('validate', { record }),
  checkDuplicates: (record: RecordJson) => call<DuplicateView[]>('check_duplicates', { record }),
  enroll: (record: RecordJson, notDuplicateOf: string[]) =>
    call<Saved>('enroll', { record, notDuplicateOf }),
  edit: (id: string, record: RecordJson) => call<Saved>('edit', { id, record }),
  saveDraft: (key: string, json: string) => call<void>('save_draft', { key, json }),
  loadDraft: (key: string) => call<string | null>('load_draft', { key }),
  clearDraft: (key: string) => call<void>('clear_draft', { key }),
  setPhoto: (id: string, dataUrl: string | null) => call<void>('set_photo', { id, dataUrl }),
  photo: (id: string) => call<string | null>('photo', { id }),
  cardPreview: (id: string) => call<CardPreview>('card_preview', { id }),
  queue: () => call<QueueItem[]>('queue'),
  addToQueue: (id: string) => call<number>('add_to_queue', { id }),
  printCards: (ids: string[] | null, layout: PrintLayout) => call<Printed>('print_cards', { ids, layout }),
  openPrinted: (path: string) => call<void>('open_printed', { path }),
  syncNow: () => call<SyncReport>('sync_now'),
  syncOverview: () => call<SyncOverview>('sync_overview'),
  verifyCard: (dataBase64: string) => call<Verdict[]>('verify_card', { dataBase64 }),
  scanCode: (dataBase64: string) => call<string>('scan_code', { dataBase64 }),
  onSyncProgress: (f: (p: SyncProgress) => void): Promise<UnlistenFn> =>
    listen<SyncProgress>('sync-progress', (e) => f(e.payload)),
};

/** A file as base64 (for verify and scan). */
export function fileToBase64(file: Blob): Promise<string> {
  return new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => {
      const s = String(r.result);
      resolve(s.slice(s.indexOf(',') + 1));
    };
    r.onerror = () => reject(r.error);
    r.readAsDataURL(file);
  });
}
