/**
 * The demo workloads of the quick start. Secrets follow `<client>-secret` on purpose: this IdP is a
 * local stand-in for Entra and must never hold a real identity.
 */
export const DEV_TENANT_ID = '5f1b9c2e-7a43-4d8e-9b61-0c2d3e4f5a6b';

export interface DemoClient {
  clientId: string;
  /** Stable object id, as Entra gives each service principal. */
  oid: string;
  name: string;
  roles: string[];
  groups: string[];
  /** Set for a demo managed identity: Entra puts the identity's Azure resource id in `xms_mirid`. */
  managedIdentityResourceId?: string;
}

/** Group ids the demo clients belong to (Entra puts group object ids in `groups`). */
export const DEV_GROUPS = {
  dataReaders: '8e1d6a4b-2c3f-4e5a-9b7c-1d2e3f4a5b6c',
  platformOps: '3a9c7e5b-1f2d-4c6e-8a0b-9d8c7b6a5f4e',
} as const;

export const DEMO_CLIENTS: readonly DemoClient[] = [
  { clientId: 'security-admin', oid: '0a4f5c1e-3b2d-4e6f-8a91-7c6b5d4e3f21', name: 'Security Admin', roles: ['Gateway.Admin'], groups: [] },
  { clientId: 'approver', oid: '1b5a6d2f-4c3e-4f70-9ba2-8d7c6e5f4a32', name: 'Approver', roles: ['Gateway.Approver'], groups: [] },
  { clientId: 'approver-2', oid: '2c6b7e3a-5d4f-4a81-8cb3-9e8d7f6a5b43', name: 'Approver Two', roles: ['Gateway.Approver'], groups: [] },
  { clientId: 'auditor', oid: '3d7c8f4b-6e5a-4b92-9dc4-af9e8a7b6c54', name: 'Auditor', roles: ['Gateway.Auditor'], groups: [] },
  { clientId: 'ai-agent', oid: '4e8d9a5c-7f6b-4ca3-8ed5-ba0f9b8c7d65', name: 'AI Agent', roles: ['Gateway.Requester'], groups: [DEV_GROUPS.dataReaders] },
  { clientId: 'ci-pipeline', oid: '5f9eab6d-8a7c-4db4-9fe6-cb1a0c9d8e76', name: 'CI Pipeline', roles: ['Gateway.Requester'], groups: [] },
  {
    clientId: 'managed-etl', oid: '7b1acd8f-0c9e-4fd6-9b08-ed3c2e1f0a98', name: 'Managed ETL', roles: ['Gateway.Requester'], groups: [],
    managedIdentityResourceId: `/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/dev/providers/Microsoft.ManagedIdentity/userAssignedIdentities/managed-etl`,
  },
  { clientId: 'agent-edge-1', oid: '6a0fbc7e-9b8d-4ec5-8af7-dc2b1d0e9f87', name: 'Edge Agent 1', roles: ['Gateway.Agent'], groups: [DEV_GROUPS.platformOps] },
];

export function demoClientSecret(clientId: string): string {
  return `${clientId}-secret`;
}

export function findDemoClient(clientId: string): DemoClient | undefined {
  return DEMO_CLIENTS.find((client) => client.clientId === clientId);
}
