import { CronExpressionParser } from 'cron-parser';

/** The latest occurrence of `cron` strictly before `before`, in `timeZone`; undefined when there is none. */
export function previousOccurrence(cron: string, timeZone: string, before: Date): Date | undefined {
  try {
    return CronExpressionParser.parse(cron, { currentDate: before, tz: timeZone }).prev().toDate();
  } catch (err) {
    if (/out of the time span|no previous/i.test((err as Error).message)) return undefined;
    throw new Error(`invalid cron expression '${cron}': ${(err as Error).message}`);
  }
}

/** The first occurrence of `cron` strictly after `after`, in `timeZone`. */
export function nextOccurrence(cron: string, timeZone: string, after: Date): Date {
  return CronExpressionParser.parse(cron, { currentDate: after, tz: timeZone }).next().toDate();
}
