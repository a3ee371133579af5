import { z } from 'zod';

/** A user id that fits a `user:<id>` topic (`[A-Za-z0-9_.:-]`, at most 128 characters in all). */
const userId = z.string().regex(/^[A-Za-z0-9_.:-]{1,123}$/, 'must be 1-123 characters of A-Z a-z 0-9 _ . : -');

/** Body of `POST /v1/ws/test-notification`. Unknown fields are ignored; `user_id` defaults to the caller. */
export const testNotificationBody = z.object({
  user_id: userId.optional(),
  title: z.string().min(1).max(200),
  message: z.string().max(2000),
  priority: z.enum(['routine', 'urgent', 'critical']).optional(),
});

/** Query of `GET /v1/notifications`. Unknown parameters are ignored. */
export const inboxQuery = z.object({
  // Opaque, checked by the inbox store (a PostgresInbox cursor carries a notification id: up to ~560 characters).
  cursor: z.string().min(1).max(1024).optional(),
  limit: z
    .string()
    .regex(/^\d{1,3}$/, 'must be an integer from 1 to 100')
    .transform(Number)
    .pipe(z.number().int().min(1).max(100))
    .optional(),
});

/** A notification id in a path: what `hub.publish` accepts as an id. */
export const notificationId = z.string().min(1).max(128);
