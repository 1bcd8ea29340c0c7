import { createRestError, type Client, type PathUncheckedResponse } from '@azure-rest/core-client';
import { createHttpPoller, type OperationState, type PollerLike } from '@azure/core-lro';
import { ARC_API_VERSION } from './clients';

/**
 * A long-running POST on an Arc machine (assessPatches, installPatches), polled the way the SDKs poll
 * theirs (@azure/core-lro: Azure-AsyncOperation, then Location). `@azure/arm-hybridcompute` on npm
 * predates these operations, so they go through the same ARM client stack by path. `restoreFrom` resumes
 * a serialized poller without sending the POST again.
 */
export function arcOperation<T>(
  arm: Client,
  path: string,
  options: { body?: unknown; restoreFrom?: string; intervalInMs?: number },
): PollerLike<OperationState<T>, T> {
  const lro = (response: PathUncheckedResponse) => {
    if (!['200', '201', '202'].includes(response.status)) throw createRestError(response);
    return {
      flatResponse: response,
      rawResponse: { ...response, statusCode: Number.parseInt(response.status), body: response.body },
    };
  };
  return createHttpPoller<T, OperationState<T>>(
    {
      sendInitialRequest: async () =>
        lro(
          await arm
            .pathUnchecked(`${path}?api-version=${ARC_API_VERSION}`)
            .post({ body: options.body ?? {}, contentType: 'application/json' }),
        ),
      sendPollRequest: async (url) => {
        const versioned = /[?&]api-version=/.test(url)
          ? url
          : `${url}${url.includes('?') ? '&' : '?'}api-version=${ARC_API_VERSION}`;
        return lro(await arm.pathUnchecked(versioned).get());
      },
    },
    {
      restoreFrom: options.restoreFrom,
      intervalInMs: options.intervalInMs,
      resourceLocationConfig: 'location',
      processResult: async (result) => (result as PathUncheckedResponse).body as T,
    },
  );
}
