import { KubernetesMessages } from './kubernetes.messages.js';

describe('KubernetesMessages.forbidden', () => {
  it('says what to grant even when the ServiceAccount is unknown', () => {
    const text = KubernetesMessages.forbidden('list', 'ns', undefined, undefined);
    expect(text).toContain("This pod's ServiceAccount needs the verbs get, list and watch");
    expect(text).toContain('kubectl auth can-i list endpointslices.discovery.k8s.io -n ns.');
  });
});
